import { ApiProperty } from '@nestjs/swagger';

/** What a command on a UUID-identified aggregate answers: its id and the stream version it produced. */
export class CommandAcceptedDto {
  @ApiProperty({ format: 'uuid', example: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b' }) id!: string;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 1,
    description: 'Stream version after the command; pass as minVersion to read your write',
  })
  version!: number;
}
